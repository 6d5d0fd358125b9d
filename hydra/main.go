// Command hydra is Ory Hydra v2, built from the Go module proxy through this wrapper module.
package main

import "github.com/ory/hydra/v2/cmd"

func main() {
	cmd.Execute()
}
