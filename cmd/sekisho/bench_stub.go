package main

import "github.com/spf13/cobra"

// newBenchCmd is replaced by bench.go when the benchmark lands.
func newBenchCmd() *cobra.Command {
	return &cobra.Command{Use: "bench", Short: "Run the benchmark (not built yet)", Hidden: true}
}
