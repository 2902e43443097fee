/** edge/tpm transports against servers on loopback that misbehave as a TPM socket can. */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TpmError } from '../../core/tpm/index.ts';
import { TpmTransportError } from './errors.ts';
import { deviceTransport, openTransport, socketTransport, type TpmTransport } from './transport.ts';

const getRandom = Buffer.from('80010000000c0000017b0008', 'hex');
const servers: net.Server[] = [];
const transports: TpmTransport[] = [];

/** A server that answers each frame it receives with `reply(frame)` (raw bytes written back). */
async function server(
  reply: (socket: net.Socket, frame: Buffer) => void,
): Promise<{ host: string; port: number }> {
  const s = net.createServer((socket) => socket.on('data', (d) => reply(socket, d)));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  return { host: '127.0.0.1', port };
}
function transport(...args: Parameters<typeof socketTransport>): TpmTransport {
  const t = socketTransport(...args);
  transports.push(t);
  return t;
}
const frame = (response: Buffer, ack = 0) => {
  const b = Buffer.alloc(8 + response.length);
  b.writeUInt32BE(response.length, 0);
  response.copy(b, 4);
  b.writeUInt32BE(ack, 4 + response.length);
  return b;
};
const ok = Buffer.from('80010000000a00000000', 'hex');

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe('socket transport', () => {
  it('sends TPM_SEND_COMMAND, locality 0, size, command; returns the framed response', async () => {
    let seen: Buffer | undefined;
    const address = await server((socket, d) => {
      seen = d;
      // split the answer to check reassembly
      const f = frame(ok);
      socket.write(f.subarray(0, 3));
      setTimeout(() => socket.write(f.subarray(3)), 10);
    });
    expect(await transport(address).send(getRandom)).toEqual(ok);
    expect(seen).toEqual(Buffer.concat([Buffer.from('00000008000000000c', 'hex'), getRandom]));
  });

  it('queues concurrent commands on one connection', async () => {
    let connections = 0;
    const s = net.createServer((socket) => {
      connections++;
      socket.on('data', () => socket.write(frame(ok)));
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const t = transport({ host: '127.0.0.1', port: (s.address() as net.AddressInfo).port });
    const answers = await Promise.all([t.send(getRandom), t.send(getRandom), t.send(getRandom)]);
    expect(answers.every((a) => a.equals(ok))).toBe(true);
    expect(connections).toBe(1);
  });

  it('a response announced larger than the cap is refused before it is read', async () => {
    const address = await server((socket) => socket.write(Buffer.from('00100000', 'hex')));
    const err = await transport(address, { maxResponseBytes: 4096 })
      .send(getRandom)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TpmError);
    expect((err as TpmError).kind).toBe('response-too-large');
  });

  it('no answer: timeout; a closed connection: closed; a non-zero ack: protocol', async () => {
    const silent = await server(() => undefined);
    await expect(transport(silent, { timeoutMs: 100 }).send(getRandom)).rejects.toMatchObject({
      kind: 'timeout',
    });
    const closing = await server((socket) => socket.end(frame(ok).subarray(0, 6)));
    await expect(transport(closing).send(getRandom)).rejects.toMatchObject({ kind: 'closed' });
    const nack = await server((socket) => socket.write(frame(ok, 1)));
    await expect(transport(nack).send(getRandom)).rejects.toMatchObject({ kind: 'protocol' });
  });

  it('nothing listening: unavailable; after close: closed', async () => {
    const address = await server(() => undefined);
    await new Promise((r) => servers.pop()!.close(r));
    const err = await transport(address)
      .send(getRandom)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TpmTransportError);
    expect((err as TpmTransportError).kind).toBe('unavailable');
    const t = transport(address);
    await t.close();
    await expect(t.send(getRandom)).rejects.toMatchObject({ kind: 'closed' });
  });
});

describe('device transport and configuration', () => {
  it('a missing device is unavailable, naming it', async () => {
    const t = deviceTransport('/nonexistent/tpmrm0');
    transports.push(t);
    const err = await t.send(getRandom).catch((e: unknown) => e);
    expect((err as TpmTransportError).kind).toBe('unavailable');
    expect((err as Error).message).toContain('/nonexistent/tpmrm0');
  });

  it('openTransport takes /dev paths, tcp:HOST:PORT and unix:PATH, and refuses anything else', () => {
    expect(openTransport('/dev/tpmrm0').description).toBe('/dev/tpmrm0');
    expect(openTransport('tcp:127.0.0.1:2321').description).toBe('tcp:127.0.0.1:2321');
    expect(openTransport('unix:/run/vtpm.sock').description).toBe('unix:/run/vtpm.sock');
    for (const bad of ['tcp:host', 'tcp:h:99999', 'http://x', 'tpmrm0']) {
      expect(() => openTransport(bad)).toThrow(TpmTransportError);
    }
  });
});
