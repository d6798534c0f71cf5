export * as ResumeState from "./ResumeState.js"
export * as Snapshot from "./Snapshot.js"
export * as SnapshotStore from "./SnapshotStore.js"
export * as Workflow from "./Workflow.js"
