import { generatePassword, type PasswordOptions } from '../random-password';
import type { OperationContext } from './context';

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html */
export function getRandomPassword(input: PasswordOptions, _ctx: OperationContext): Record<string, unknown> {
  return { RandomPassword: generatePassword(input) };
}
