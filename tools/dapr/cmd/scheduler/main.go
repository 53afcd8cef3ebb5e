// Command scheduler is Dapr's scheduler control-plane service (the Jobs API
// backend), built unchanged from github.com/dapr/dapr at the version pinned in
// ../../go.mod.
package main

import "github.com/dapr/dapr/cmd/scheduler/app"

func main() {
	app.Run()
}
