/**
 * The real HttpRequest and InvocationContext classes of @azure/functions. Its CommonJS bundle hides them from
 * Node's named-export detection, so ESM tests take them from the default export (the same objects).
 */
import functions from '@azure/functions';

export const { HttpRequest, InvocationContext } = functions;
