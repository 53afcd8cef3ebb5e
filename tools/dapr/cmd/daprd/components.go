package main

// The component registry of this trimmed daprd. Upstream's cmd/daprd/components
// registers ~150 components behind build tags; compiling them all takes far too
// long on a 2-core machine, so only the components this project uses are
// registered here. To support another component, add its registration below
// (same constructor and type name as upstream's cmd/daprd/components/<type>.go).

import (
	"github.com/dapr/components-contrib/nameresolution/sqlite"
	inmemorypubsub "github.com/dapr/components-contrib/pubsub/in-memory"
	"github.com/dapr/components-contrib/pubsub/kafka"
	"github.com/dapr/components-contrib/pubsub/redis"
	"github.com/dapr/components-contrib/secretstores/kubernetes"
	"github.com/dapr/components-contrib/secretstores/local/env"
	"github.com/dapr/components-contrib/secretstores/local/file"
	inmemorystate "github.com/dapr/components-contrib/state/in-memory"
	pgv1 "github.com/dapr/components-contrib/state/postgresql/v1"
	pgv2 "github.com/dapr/components-contrib/state/postgresql/v2"
	"github.com/dapr/dapr/pkg/components"
	nrLoader "github.com/dapr/dapr/pkg/components/nameresolution"
	pubsubLoader "github.com/dapr/dapr/pkg/components/pubsub"
	secretstoresLoader "github.com/dapr/dapr/pkg/components/secretstores"
	stateLoader "github.com/dapr/dapr/pkg/components/state"
)

func registerComponents() {
	// Pub/sub: pubsub.kafka, pubsub.redis (Redis Streams), pubsub.in-memory.
	pubsubLoader.DefaultRegistry.RegisterComponent(kafka.NewKafka, "kafka")
	pubsubLoader.DefaultRegistry.RegisterComponent(redis.NewRedisStreams, "redis")
	pubsubLoader.DefaultRegistry.RegisterComponent(inmemorypubsub.New, "in-memory")

	// State: state.postgresql (v1 default, v2 on request), state.in-memory.
	pg := components.Versioning{
		Preferred: components.VersionConstructor{Version: "v2", Constructor: pgv2.NewPostgreSQLStateStore},
		Others:    []components.VersionConstructor{{Version: "v1", Constructor: pgv1.NewPostgreSQLStateStore}},
		Default:   "v1",
	}
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgresql", pg)
	stateLoader.DefaultRegistry.RegisterComponentWithVersions("postgres", pg)
	stateLoader.DefaultRegistry.RegisterComponent(inmemorystate.NewInMemoryStateStore, "in-memory")

	// Secret stores: secretstores.local.file, secretstores.local.env, secretstores.kubernetes.
	secretstoresLoader.DefaultRegistry.RegisterComponent(file.NewLocalSecretStore, "local.file")
	secretstoresLoader.DefaultRegistry.RegisterComponent(env.NewEnvSecretStore, "local.env")
	secretstoresLoader.DefaultRegistry.RegisterComponent(kubernetes.NewKubernetesSecretStore, "kubernetes")

	// Name resolution for service invocation in self-hosted mode: sqlite, selected by the
	// Configuration in deploy/dapr/local-config.yaml. mDNS (upstream's self-hosted default)
	// is left out on purpose: it multicasts on the network, and our processes must stay
	// on loopback. Without that Configuration daprd logs that "mdns" is unknown and runs
	// without service invocation.
	nrLoader.DefaultRegistry.RegisterComponent(sqlite.NewResolver, "sqlite")
}
