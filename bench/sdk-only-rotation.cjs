// A rotation function that makes the same Secrets Manager calls as rotor's
// single-user rotation and no database work: what the local stack and the
// SDK cost per rotation, measured by the rotation benchmark.
const {
  SecretsManagerClient, DescribeSecretCommand, GetSecretValueCommand, GetRandomPasswordCommand,
  PutSecretValueCommand, UpdateSecretVersionStageCommand,
} = require('@aws-sdk/client-secrets-manager');

const client = new SecretsManagerClient({});

exports.handler = async (event) => {
  const id = event.SecretId;
  const token = event.ClientRequestToken;
  const get = (stage, versionId) => client.send(new GetSecretValueCommand({ SecretId: id, VersionStage: stage, VersionId: versionId })).catch(() => undefined);
  const [meta, current] = await Promise.all([
    client.send(new DescribeSecretCommand({ SecretId: id })),
    event.Step === 'finishSecret' ? undefined : get('AWSCURRENT'),
    event.Step === 'finishSecret' ? undefined : get('AWSPENDING', token),
  ]);
  if (event.Step === 'createSecret') {
    const pw = await client.send(new GetRandomPasswordCommand({ PasswordLength: 32, ExcludeCharacters: ':/@"\'\\' }));
    const value = { ...JSON.parse(current.SecretString), password: pw.RandomPassword };
    await client.send(new PutSecretValueCommand({ SecretId: id, ClientRequestToken: token, SecretString: JSON.stringify(value), VersionStages: ['AWSPENDING'] }));
  } else if (event.Step === 'finishSecret') {
    const from = Object.entries(meta.VersionIdsToStages).find(([, s]) => s.includes('AWSCURRENT'))[0];
    if (from !== token) await client.send(new UpdateSecretVersionStageCommand({ SecretId: id, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: from }));
  }
};
