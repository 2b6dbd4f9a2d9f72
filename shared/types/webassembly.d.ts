/**
 * The part of the WebAssembly JS API that shared/analyze/tracerTally.ts uses. Node has it built in, but its types
 * live in TypeScript's DOM library, which this Node-only project does not load.
 */
declare namespace WebAssembly {
    // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- the JS API's class, opaque to its users
    class Module {
        constructor(bytes: ArrayBufferView | ArrayBuffer);
    }
    class Instance {
        constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
        readonly exports: Record<string, unknown>;
    }
    class Memory {
        readonly buffer: ArrayBuffer;
    }
}
