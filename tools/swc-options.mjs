// One swc configuration for everything that turns our TypeScript into JavaScript: the runtime
// loader (tools/register.mjs) and jest (jest.config.mjs). Decorator metadata is required by NestJS DI.
export const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    target: 'es2023',
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};
