/** jailnetd's socket when nothing names another (a module of its own: `jailnet` reads it at start-up). */
export const DEFAULT_SOCKET = '/var/run/jailnet/jailnetd.sock';
