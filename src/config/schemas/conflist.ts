/** A network configuration list (SPEC.md "Configuration format"), as libcni reads it. */
import { NETWORK_NAME_MAX, NETWORK_NAME_PATTERN } from './cni';

export const conflistSchema = {
  $id: 'conflist',
  type: 'object',
  required: ['cniVersion', 'name', 'plugins'],
  properties: {
    cniVersion: { type: 'string' },
    cniVersions: { type: 'array', items: { type: 'string' } },
    name: { type: 'string', pattern: NETWORK_NAME_PATTERN, maxLength: NETWORK_NAME_MAX },
    disableCheck: { type: 'boolean' },
    disableGC: { type: 'boolean' },
    plugins: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['type'],
        properties: {
          type: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 64 },
          capabilities: { type: 'object', additionalProperties: { type: 'boolean' } },
        },
      },
    },
  },
} as const;
