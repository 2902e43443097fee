// Polling lives with the local cluster tool (scripts/cluster), which the demo runs without test helpers.
export { clusterEventually, eventually } from '../../scripts/cluster/eventually.ts';
