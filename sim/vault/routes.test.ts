import { describe, expect, it } from 'vitest';
import { routeOf } from './routes.ts';

describe('routeOf: the KeyClient paths', () => {
  const v = '0ed95742304930c073f6e1099de04348';
  it.each([
    ['GET', '/keys', { operation: 'listKeys' }],
    ['POST', '/keys/k1/create', { operation: 'createKey', name: 'k1' }],
    ['PUT', '/keys/k1', { operation: 'importKey', name: 'k1' }],
    ['GET', '/keys/k1/', { operation: 'getKey', name: 'k1', version: '' }],
    ['GET', '/keys/k1', { operation: 'getKey', name: 'k1' }],
    ['GET', `/keys/k1/${v}`, { operation: 'getKey', name: 'k1', version: v }],
    ['PATCH', '/keys/k1/', { operation: 'updateKey', name: 'k1', version: '' }],
    ['PATCH', `/keys/k1/${v}`, { operation: 'updateKey', name: 'k1', version: v }],
    ['GET', '/keys/k1/versions', { operation: 'listVersions', name: 'k1' }],
    ['POST', '/keys/k1/release', { operation: 'releaseKey', name: 'k1' }],
    ['POST', `/keys/k1/${v}/release`, { operation: 'releaseKey', name: 'k1', version: v }],
    ['POST', '/keys/k1/rotate', { operation: 'rotateKey', name: 'k1' }],
    ['GET', '/keys/k1/rotationpolicy', { operation: 'getRotationPolicy', name: 'k1' }],
    ['PUT', '/keys/k1/rotationpolicy', { operation: 'setRotationPolicy', name: 'k1' }],
    ['DELETE', '/keys/k1', { operation: 'deleteKey', name: 'k1' }],
    ['GET', '/deletedkeys', { operation: 'listDeletedKeys' }],
    ['GET', '/deletedkeys/k1', { operation: 'getDeletedKey', name: 'k1' }],
    ['DELETE', '/deletedkeys/k1', { operation: 'purgeDeletedKey', name: 'k1' }],
    ['POST', '/deletedkeys/k1/recover', { operation: 'recoverDeletedKey', name: 'k1' }],
    ['PUT', '/keys/create', { operation: 'importKey', name: 'create' }],
  ])('%s %s', (method, path, route) => {
    expect(routeOf(method, path)).toEqual(route);
  });

  it('tells a wrong method from an unknown path', () => {
    expect(routeOf('DELETE', '/keys/k1/versions')).toEqual({ wrongMethod: true, allowed: ['GET'] });
    expect(routeOf('GET', `/keys/k1/${v}/`)).toBeUndefined();
    expect(routeOf('GET', '/secrets/s1')).toBeUndefined();
    expect(routeOf('GET', '/keys//x')).toBeUndefined();
  });
});
