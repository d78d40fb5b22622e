// What the globalSetup files hand to the tests (vitest `provide` / `inject`).
declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the real HTTP webhook receiver (test/setup/webhook-receiver.ts), e.g. http://127.0.0.1:41234 */
    webhookReceiver: string;
  }
}

export {};
