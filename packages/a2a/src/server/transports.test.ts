import { ContentTypeNotSupportedError, TaskNotCancelableError, TaskNotFoundError, UnsupportedOperationError } from '@a2a-js/sdk/errors';
import { describe, expect, it } from 'vitest';

import { invalidJsonRpcEnvelope, invalidJsonRpcParams, matchRestRoute, requestedVersionOf, restStatusFor } from './transports.js';

describe('invalidJsonRpcEnvelope', () => {
  it('accepts JSON-RPC 2.0 request objects, with or without an id', () => {
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', id: 1, method: 'GetTask', params: {} })).toBeUndefined();
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', id: 'a', method: 'GetTask' })).toBeUndefined();
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', id: null, method: 'GetTask' })).toBeUndefined();
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', method: 'GetTask' })).toBeUndefined();
  });

  it('names what is wrong with anything else', () => {
    expect(invalidJsonRpcEnvelope([])).toMatch(/batch/);
    expect(invalidJsonRpcEnvelope('x')).toMatch(/JSON object/);
    expect(invalidJsonRpcEnvelope({ jsonrpc: '1.0', method: 'GetTask' })).toMatch(/"jsonrpc"/);
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', method: '' })).toMatch(/"method"/);
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', method: 7 })).toMatch(/"method"/);
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', method: 'GetTask', id: { bad: 'type' } })).toMatch(/"id"/);
    expect(invalidJsonRpcEnvelope({ jsonrpc: '2.0', method: 'GetTask', id: 1.5 })).toMatch(/"id"/);
  });
});

describe('invalidJsonRpcParams', () => {
  it('refuses a negative or fractional historyLength, on reads and sends', () => {
    expect(invalidJsonRpcParams('GetTask', { id: 't', historyLength: -1 })).toMatch(/historyLength/);
    expect(invalidJsonRpcParams('tasks/get', { id: 't', historyLength: 1.5 })).toMatch(/historyLength/);
    expect(invalidJsonRpcParams('SendMessage', { message: {}, configuration: { historyLength: -3 } })).toMatch(/historyLength/);
    expect(invalidJsonRpcParams('GetTask', { id: 't', historyLength: 0 })).toBeUndefined();
    expect(invalidJsonRpcParams('GetTask', { id: 't' })).toBeUndefined();
    expect(invalidJsonRpcParams('CancelTask', { id: 't', historyLength: -1 })).toBeUndefined();
  });
});

describe('restStatusFor', () => {
  it('follows the spec table where the SDK differs (409, 415), and the SDK elsewhere', () => {
    expect(restStatusFor(new TaskNotCancelableError('done'))).toBe(409);
    expect(restStatusFor(new ContentTypeNotSupportedError('nope'))).toBe(415);
    expect(restStatusFor(new TaskNotFoundError('gone'))).toBe(404);
    expect(restStatusFor(new UnsupportedOperationError('no'))).toBe(400);
    expect(restStatusFor(new Error('boom'))).toBe(500);
  });
});

describe('requestedVersionOf', () => {
  it('negotiates on Major.Minor only: a patch number is dropped (VER-CLIENT-002)', () => {
    expect(requestedVersionOf('1.0')).toBe('1.0');
    expect(requestedVersionOf('1.0.3')).toBe('1.0');
    expect(requestedVersionOf(' 0.3.1 ')).toBe('0.3');
    expect(requestedVersionOf('99.0')).toBe('99.0');
    expect(requestedVersionOf('banana')).toBe('banana');
    expect(requestedVersionOf('')).toBeUndefined();
    expect(requestedVersionOf(undefined)).toBeUndefined();
  });
});

describe('matchRestRoute: push-notification configs', () => {
  it('matches the collection (POST, GET) and one config (GET, DELETE), with or without a tenant', () => {
    expect(matchRestRoute('POST', '/tasks/t1/pushNotificationConfigs')).toEqual({ tenant: '', action: 'push', taskId: 't1', configId: '', method: 'POST' });
    expect(matchRestRoute('GET', '/tasks/t1/pushNotificationConfigs')).toMatchObject({ action: 'push', configId: '', method: 'GET' });
    expect(matchRestRoute('GET', '/acme/tasks/t1/pushNotificationConfigs/c1')).toEqual({ tenant: 'acme', action: 'push', taskId: 't1', configId: 'c1', method: 'GET' });
    expect(matchRestRoute('DELETE', '/tasks/t1/pushNotificationConfigs/c1')).toMatchObject({ action: 'push', configId: 'c1', method: 'DELETE' });
  });

  it('matches nothing for other methods or deeper paths', () => {
    expect(matchRestRoute('DELETE', '/tasks/t1/pushNotificationConfigs')).toBeUndefined();
    expect(matchRestRoute('POST', '/tasks/t1/pushNotificationConfigs/c1')).toBeUndefined();
    expect(matchRestRoute('GET', '/tasks/t1/pushNotificationConfigs/c1/extra')).toBeUndefined();
  });
});
