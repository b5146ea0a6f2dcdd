/**
 * @module
 * edgemq's cluster over NATS (issue 12): being built.
 */
export {};
