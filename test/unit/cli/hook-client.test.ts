import { CniError } from '../../../src/cni/errors';
import { hookOutcome, parseHttpAnswer } from '../../../src/cli/hook-client';

// The hook's thin client reads jailnetd's answer itself (node:net, not node:http).

const answer = (head: string, body: string | Buffer) => Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)]);

describe('parseHttpAnswer', () => {
  test('status and a content-length body (what jailnetd sends); bytes past the length are not the body', () => {
    expect(parseHttpAnswer(answer('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 3', '{}\nextra'))).toEqual({ status: 200, body: '{}\n' });
    expect(parseHttpAnswer(answer('HTTP/1.1 422 Unprocessable Entity\r\nContent-Length: 2', '{}'))).toEqual({ status: 422, body: '{}' });
  });
  test('a chunked body, and a body up to the end without a length', () => {
    expect(parseHttpAnswer(answer('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked', '2\r\n{"\r\n4;x=y\r\na":1\r\n1\r\n}\r\n0\r\n\r\n'))).toEqual({ status: 200, body: '{"a":1}' });
    expect(parseHttpAnswer(answer('HTTP/1.0 404 Not Found', 'gone'))).toEqual({ status: 404, body: 'gone' });
  });
  test('a multi-byte body is decoded whole', () => {
    const body = Buffer.from('{"msg":"Jail «web» — nicht gefunden"}');
    expect(parseHttpAnswer(answer(`HTTP/1.1 422 x\r\ncontent-length: ${body.length}`, body)).body).toBe(body.toString());
  });
  test('what is not a whole HTTP answer is an error, never a status', () => {
    expect(() => parseHttpAnswer(Buffer.from(''))).toThrow('ended before its headers');
    expect(() => parseHttpAnswer(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n'))).toThrow('ended before its headers');
    expect(() => parseHttpAnswer(answer('SSH-2.0-OpenSSH_9.6', ''))).toThrow('not HTTP/1.1');
    expect(() => parseHttpAnswer(answer('HTTP/1.1 200 OK\r\ncontent-length: 10', '{}'))).toThrow('shorter than its content-length');
    expect(() => parseHttpAnswer(answer('HTTP/1.1 200 OK\r\ncontent-length: -1', '{}'))).toThrow('content-length');
    expect(() => parseHttpAnswer(answer('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked', '5\r\nab'))).toThrow('chunk');
    expect(() => parseHttpAnswer(answer('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked', 'zz\r\n'))).toThrow('chunk');
  });
});

describe('hookOutcome', () => {
  const sock = '/var/run/jailnet/jailnetd.sock';
  test('200 is done; 404 and 405 (a jailnetd without /v1/hook) leave the hook to the caller', () => {
    expect(hookOutcome({ status: 200, body: '{}' }, sock)).toBe('done');
    expect(hookOutcome({ status: 404, body: '' }, sock)).toBe('not-served');
    expect(hookOutcome({ status: 405, body: '' }, sock)).toBe('not-served');
  });
  test("422 carries the chain's CNI error as it is", () => {
    const e = hookOutcome({ status: 422, body: JSON.stringify({ cniError: { code: 7, msg: 'network configuration: bad', details: 'fix it' } }) }, sock);
    expect(e).toBeInstanceOf(CniError);
    expect(e).toMatchObject({ code: 7, message: 'network configuration: bad', details: 'fix it' });
  });
  test("any other answer is jailnetd's refusal, with its message, as code 101", () => {
    expect(hookOutcome({ status: 503, body: JSON.stringify({ error: { reason: 'unavailable', message: 'jailnetd is shutting down', details: 'retry' } }) }, sock)).toMatchObject({ code: 101, message: `jailnetd (${sock}) refused the hook with status 503: jailnetd is shutting down`, details: 'retry' });
    expect(hookOutcome({ status: 422, body: 'not json' }, sock)).toMatchObject({ code: 101, message: expect.stringContaining('status 422: not json') });
  });
});
