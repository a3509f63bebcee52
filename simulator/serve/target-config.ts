// The target configuration file: the servers under test, by server_name, with
// their base URL and provisioning token. `fedconn serve` writes it; the http
// target reads it. Errors name the field and what was wrong.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { err, ok, type Result } from '../protocol/result.ts';

export const targetConfigSchema = z.strictObject({
  fedconn: z.literal(1, { error: 'must be 1 (the config format version)' }),
  profile: z.enum(['multi-device', 'aliases']),
  servers: z
    .array(
      z.strictObject({
        server_name: z.string().min(1, 'must not be empty'),
        base_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
        provisioning_token: z.string().min(1, 'must not be empty'),
      }),
    )
    .min(1, 'must list at least one server'),
  // Optional features the servers declare they implement; missing means not declared.
  capabilities: z
    .strictObject({
      /** matrix-2014 FED-AUTH-06: a presented TLS client certificate is checked. */
      client_certificates: z.boolean({ error: 'must be true or false' }).optional(),
    })
    .optional(),
});
export type TargetConfig = z.output<typeof targetConfigSchema>;

export class ConfigError extends Error {}

export function parseTargetConfig(
  text: string,
  source = 'config',
): Result<TargetConfig, ConfigError> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return err(new ConfigError(`${source}: not JSON: ${(error as Error).message}`));
  }
  const parsed = targetConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? '(root)' : issue.path.join('.');
    return err(new ConfigError(`${source}: ${field}: ${issue?.message ?? 'invalid'}`));
  }
  const names = parsed.data.servers.map((s) => s.server_name);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined)
    return err(new ConfigError(`${source}: servers: server_name ${duplicate} appears twice`));
  return ok(parsed.data);
}

export function readTargetConfig(path: string): Result<TargetConfig, ConfigError> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return err(new ConfigError(`${path}: cannot read: ${(error as Error).message}`));
  }
  return parseTargetConfig(text, path);
}
