// Cold-start baseline for bench/cold-start.bench.ts: a function that only loads the bare Secrets
// Manager client (from node_modules, as a function without a bundle would) and does nothing.
require('@aws-sdk/client-secrets-manager');

exports.handler = async () => undefined;
