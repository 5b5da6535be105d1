// Cold-start baseline for bench/cold-start.bench.ts: the bare Secrets Manager client, loaded and
// making one call (DescribeSecret of the secret being rotated), nothing else.
const { SecretsManagerClient, DescribeSecretCommand } = require('@aws-sdk/client-secrets-manager');

const client = new SecretsManagerClient({});

exports.handler = async (event) => {
  await client.send(new DescribeSecretCommand({ SecretId: event.SecretId }));
};
