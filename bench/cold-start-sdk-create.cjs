// Cold-start baseline for bench/cold-start.bench.ts: the bare Secrets Manager client doing what
// createSecret must (the contract's reads in one round trip: DescribeSecret, AWSCURRENT and the
// token's AWSPENDING; then PutSecretValue of the new value), with no checks, no policy and no
// logging: the least a createSecret from a cold process can cost with this SDK.
const {
  SecretsManagerClient, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand,
} = require('@aws-sdk/client-secrets-manager');
const { randomBytes } = require('node:crypto');

const client = new SecretsManagerClient({});

exports.handler = async (event) => {
  if (event.Step !== 'createSecret') return;
  const id = event.SecretId;
  const token = event.ClientRequestToken;
  const [, current] = await Promise.all([
    client.send(new DescribeSecretCommand({ SecretId: id })),
    client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSCURRENT' })),
    client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: 'AWSPENDING', VersionId: token })).catch(() => undefined),
  ]);
  const value = JSON.stringify({ ...JSON.parse(current.SecretString), password: randomBytes(16).toString('hex') });
  await client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: token, SecretString: value, VersionStages: ['AWSPENDING'] }));
};
