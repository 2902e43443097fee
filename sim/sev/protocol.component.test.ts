import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeAmd, ReportSigner } from '../amd/index.ts';
import {
  decodeRequest,
  decodeResponse,
  DeviceSocketClient,
  encodeRequest,
  encodeResponse,
  FrameReader,
  ProtocolError,
  serveDeviceSocket,
  simulatedGuest,
  type DeviceRequest,
  type DeviceResponse,
} from './index.ts';

const body = (frame: Buffer) => frame.subarray(4);

describe('frames', () => {
  const requests: DeviceRequest[] = [
    {
      op: 'ioctl',
      id: 7,
      device: 'sev',
      request: 0xc0285301,
      arg: Buffer.alloc(40, 1),
      requestBuffer: Buffer.alloc(96, 2),
      responseSize: 1280,
      certsSize: 0,
    },
    { op: 'devices', id: 8 },
    { op: 'mkdir', id: 9, path: '/sys/kernel/config/tsm/report/é' },
    { op: 'write', id: 10, path: '/x/inblob', data: Buffer.alloc(64, 3) },
  ];
  it.each(requests)('request $op round-trips', (q) => {
    expect(decodeRequest(body(encodeRequest(q)))).toEqual(q);
  });

  const responses: DeviceResponse[] = [
    {
      op: 'ioctl',
      id: 1,
      errno: 5,
      exitinfo2: 1n << 32n,
      arg: Buffer.alloc(32),
      requestBuffer: Buffer.alloc(112),
      response: undefined,
      certs: undefined,
    },
    { op: 'devices', id: 2, errno: 0, paths: ['/dev/sev-guest'] },
    { op: 'readdir', id: 3, errno: 0, names: ['a', 'b'] },
    { op: 'read', id: 4, errno: 0, data: Buffer.from('sev_guest\n') },
    { op: 'read', id: 5, errno: 16, data: undefined },
    { op: 'rmdir', id: 6, errno: 2 },
  ];
  it.each(responses)('response $op (errno $errno) round-trips', (s) => {
    expect(decodeResponse(body(encodeResponse(s)))).toEqual(s);
  });

  it('the ioctl request layout is the documented one', () => {
    const frame = encodeRequest(requests[0]!);
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    expect(frame.subarray(4, 10).toString('hex')).toBe('010107000000'); // version 1, op 0x01, id 7
    expect(frame[10]).toBe(1); // device /dev/sev
    expect(frame.readUInt32LE(11)).toBe(0xc0285301);
    expect(frame.readUInt32LE(15)).toBe(40);
  });

  it('rejects truncated frames, unknown ops, other versions, trailing bytes and oversized frames', () => {
    const good = body(encodeRequest({ op: 'devices', id: 1 }));
    expect(() => decodeRequest(good.subarray(0, 3))).toThrow(ProtocolError);
    expect(() => decodeRequest(Buffer.from([1, 0x7f, 0, 0, 0, 0]))).toThrow(/unknown operation/);
    expect(() => decodeRequest(Buffer.from([2, 0x02, 0, 0, 0, 0]))).toThrow(/version 2/);
    expect(() => decodeRequest(Buffer.concat([good, Buffer.from([0])]))).toThrow(/trailing/);
    const huge = Buffer.alloc(4);
    huge.writeUInt32LE(2 << 20);
    expect(() => new FrameReader().push(huge)).toThrow(ProtocolError);
  });

  it('reassembles frames split across chunks and several frames in one chunk', () => {
    const a = encodeRequest({ op: 'devices', id: 1 });
    const b = encodeRequest({ op: 'read', id: 2, path: '/p' });
    const reader = new FrameReader();
    const all = Buffer.concat([a, b]);
    expect(reader.push(all.subarray(0, 3))).toEqual([]);
    expect(reader.push(all.subarray(3)).map((f) => decodeRequest(f).id)).toEqual([1, 2]);
  });
});

describe('device socket', () => {
  it('lists the guest’s devices and drops a connection that sends garbage', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'securekey-sev-'));
    const guest = simulatedGuest({ signer: new ReportSigner(new FakeAmd()), interfaces: ['sev', 'tsm'] });
    const server = await serveDeviceSocket(path.join(dir, 'g.sock'), guest);
    try {
      const client = await DeviceSocketClient.connect(server.path);
      expect(await client.devices()).toEqual(['/dev/sev', '/sys/kernel/config/tsm/report']);
      const missing = await client.ioctl('sev-guest', {
        request: 0xc0205300,
        arg: Buffer.alloc(32),
        requestBuffer: Buffer.alloc(96),
        responseSize: 4000,
      });
      expect(missing.errno).toBe(2); // ENOENT: this guest has no /dev/sev-guest
      await client.close();

      const raw = net.createConnection(server.path);
      await new Promise((resolve) => raw.once('connect', resolve));
      const closed = new Promise((resolve) => raw.once('close', resolve));
      raw.write(Buffer.from([6, 0, 0, 0, 9, 9, 9, 9, 9, 9]));
      await closed;
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
