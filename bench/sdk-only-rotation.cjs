// A rotation function that makes the Secrets Manager calls of rotor's warm single-user rotation,
// in the same sequential round trips (createSecret 2, setSecret 1, testSecret 1, finishSecret 2),
// with the bare SDK and no database work: what the local stack, the SDK and the child-process
// invocations cost per rotation. Measured by the rotation benchmarks (rotation.bench.ts, and
// rotation-latency.bench.ts as the harness part of its floor).
const {
  SecretsManagerClient, DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, UpdateSecretVersionStageCommand,
} = require('@aws-sdk/client-secrets-manager');
const { randomBytes } = require('node:crypto');

const client = new SecretsManagerClient({});
// Values by VersionId, as rotor's container cache keeps them: AWSCURRENT is read once.
const values = new Map();

exports.handler = async (event) => {
  const id = event.SecretId;
  const token = event.ClientRequestToken;
  const get = (stage, versionId) => client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage, VersionId: versionId })).catch(() => undefined);
  const [meta, pending] = await Promise.all([
    client.send(new DescribeSecretCommand({ SecretId: id })),
    event.Step === 'createSecret' ? get('AWSPENDING', token) : undefined,
  ]);
  const from = Object.entries(meta.VersionIdsToStages).find(([, s]) => s.includes('AWSCURRENT'))[0];
  if (event.Step === 'createSecret') {
    if (!values.has(from)) values.set(from, (await get('AWSCURRENT')).SecretString);
    if (pending) return;
    const value = JSON.stringify({ ...JSON.parse(values.get(from)), password: randomBytes(16).toString('hex') });
    await client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: token, SecretString: value, VersionStages: ['AWSPENDING'] }));
    values.set(token, value);
  } else if (event.Step === 'finishSecret' && from !== token) {
    await client.send(new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: from }));
  }
};
