/**
 * An HttpClient for the real SDK clients that answers from a function instead of the network: adapter tests run a
 * documented response example through the SDK's own pipeline and deserializers. Every request is recorded.
 */
import {
    createHttpHeaders,
    type HttpClient,
    type PipelineRequest,
    type PipelineResponse,
} from '@azure/core-rest-pipeline';

export interface CannedAnswer {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
}

export interface CannedTransport extends HttpClient {
    readonly requests: { method: string; url: URL; body: string | undefined; authorization: string | undefined }[];
}

export function cannedTransport(
    answer: (request: { method: string; url: URL; body: string | undefined }) => CannedAnswer,
): CannedTransport {
    const requests: CannedTransport['requests'] = [];
    return {
        requests,
        sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
            const body = typeof request.body === 'string' ? request.body : undefined;
            const seen = { method: request.method, url: new URL(request.url), body };
            requests.push({ ...seen, authorization: request.headers.get('authorization') });
            const canned = answer(seen);
            const text = canned.body === undefined ? '' : JSON.stringify(canned.body);
            return Promise.resolve({
                request,
                status: canned.status,
                headers: createHttpHeaders({
                    ...(text === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
                    ...canned.headers,
                }),
                bodyAsText: text,
            });
        },
    };
}

export interface RecordedExchange {
    method: string;
    url: URL;
    status: number;
    /** The answer's JSON body; undefined when it had none or it was not JSON. */
    body: unknown;
}

/** An HttpClient that passes every request to `inner` and keeps each answer's body: what a service really said. */
export function recordingTransport(inner: HttpClient): HttpClient & { readonly exchanges: RecordedExchange[] } {
    const exchanges: RecordedExchange[] = [];
    return {
        exchanges,
        async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
            const response = await inner.sendRequest(request);
            let body: unknown;
            try {
                body = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
            } catch {
                body = undefined;
            }
            exchanges.push({ method: request.method, url: new URL(request.url), status: response.status, body });
            return response;
        },
    };
}
