// See ../jest-resolver.cjs.
module.exports = globalThis.__esmBridge['@nestjs/core'];
