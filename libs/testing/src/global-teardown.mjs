export default async function globalTeardown() {
  await globalThis.__GARDE_INFRA__?.stop();
}
