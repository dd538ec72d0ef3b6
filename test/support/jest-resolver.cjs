// Jest (before Node 24.9) cannot require() an ES module, and Nest 12 is ESM
// only, while @nestjs/throttler is CommonJS and requires @nestjs/common and
// @nestjs/core. Node 20.19+ itself allows that, so this is for Jest alone:
// such a require gets a bridge that hands over the very ESM instance the
// test already imported (see jest-setup.ts), so there is one Nest, not two.
const { join } = require('node:path');

const BRIDGED = new Set(['@nestjs/common', '@nestjs/core']);

module.exports = (request, options) => {
  if (BRIDGED.has(request) && options.conditions?.includes('require') && !options.conditions.includes('import')) {
    return join(__dirname, 'esm-bridge', `${request.replace('/', '-')}.cjs`);
  }
  return options.defaultResolver(request, options);
};
