export { builtEntry } from "./built-package.js";
export { findFreePort, isPortFree } from "./free-port.js";
export { until } from "./until.js";
export { findServerBinaries, type ServerBinaries, ServerBinaryNotFoundError } from "./valkey/binaries.js";
export {
  type ClusterNode,
  type StartClusterOptions,
  startValkeyCluster,
  ValkeyCluster,
} from "./valkey/cluster.js";
export { type StartValkeyOptions, startValkey, ValkeyServer } from "./valkey/server.js";
