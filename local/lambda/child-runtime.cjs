'use strict';
/*
 * A tiny Lambda-like runtime for a CommonJS bundle, run by the local endpoint
 * with child_process.fork. Plain JavaScript on purpose: it must start with a
 * bare `node`, without TypeScript loaders, like the Lambda Node.js runtime.
 *
 * argv[2]: absolute path of the bundle; it must export `handler(event, context[, callback])`.
 * IPC from the parent: { type: 'invoke', id, event, context: {..., deadlineMs} }.
 * IPC to the parent: { type: 'ready' } | { type: 'init-error', errorType, errorMessage }
 *                  | { type: 'result', id, ok: true } | { type: 'result', id, ok: false, errorType, errorMessage }.
 * Invocations arrive one at a time. The module is loaded once (cold start)
 * and reused for later invocations, as a warm Lambda environment is.
 */

const bundlePath = process.argv[2];
let current; // id of the invocation in progress

function send(message, then) {
  if (typeof process.send === 'function' && process.connected) process.send(message, then);
  else if (then) then();
}

// Exits once the last message has been handed to the IPC channel.
function sendAndExit(message) {
  send(message, () => process.exit(1));
}

function describeError(e) {
  if (e instanceof Error) {
    return { errorType: e.name || (e.constructor && e.constructor.name) || 'Error', errorMessage: String(e.message) };
  }
  return { errorType: typeof e, errorMessage: String(e) };
}

let handler;
try {
  const mod = require(bundlePath);
  handler = mod && (typeof mod.handler === 'function' ? mod.handler : mod.default && mod.default.handler);
  if (typeof handler !== 'function') {
    sendAndExit({ type: 'init-error', errorType: 'Runtime.HandlerNotFound', errorMessage: `${bundlePath}.handler is undefined or not exported` });
  }
} catch (e) {
  const d = describeError(e);
  sendAndExit({ type: 'init-error', errorType: 'Runtime.ImportModuleError', errorMessage: `Error: Cannot load ${bundlePath}: ${d.errorMessage}` });
}

function callHandler(event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    try {
      const r = handler(event, context, callback);
      if (r && typeof r.then === 'function') r.then((v) => callback(null, v), (e) => callback(e));
      else if (handler.length < 3) callback(null, r);
    } catch (e) {
      callback(e);
    }
  });
}

process.on('message', (msg) => {
  if (!msg || msg.type !== 'invoke') return;
  current = msg.id;
  const c = msg.context;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: c.functionName,
    functionVersion: c.functionVersion,
    invokedFunctionArn: c.invokedFunctionArn,
    memoryLimitInMB: c.memoryLimitInMB,
    awsRequestId: c.awsRequestId,
    logGroupName: c.logGroupName,
    logStreamName: c.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, c.deadlineMs - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  callHandler(msg.event, context).then(
    (result) => {
      if (current !== msg.id) return;
      current = undefined;
      try {
        JSON.stringify(result === undefined ? null : result);
        send({ type: 'result', id: msg.id, ok: true });
      } catch (e) {
        send({ type: 'result', id: msg.id, ok: false, errorType: 'Runtime.MarshalError', errorMessage: 'Unable to marshal response: ' + describeError(e).errorMessage });
      }
    },
    (e) => {
      if (current !== msg.id) return;
      current = undefined;
      send(Object.assign({ type: 'result', id: msg.id, ok: false }, describeError(e)));
    },
  );
});

// Like the Lambda runtime, an uncaught error fails the invocation and ends the environment.
function fatal(errorType) {
  return (e) => {
    if (current !== undefined) sendAndExit(Object.assign({ type: 'result', id: current, ok: false }, describeError(e), errorType ? { errorType } : {}));
    else process.exit(1);
  };
}
process.on('uncaughtException', fatal());
process.on('unhandledRejection', fatal('Runtime.UnhandledPromiseRejection'));
process.on('disconnect', () => process.exit(0));

if (typeof handler === 'function') send({ type: 'ready' });
