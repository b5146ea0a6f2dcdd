// The envelope, pagination and path parameters, as zod schemas: the one source
// the admin API validates with and its OpenAPI document is generated from.
import { z } from "@hono/zod-openapi";
import { rule } from "../issues.ts";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "../query.ts";

/** One error or message, `{code, message}`. */
export const ApiMessageSchema = z.strictObject({
  code: z.int().openapi({ description: "An error code (see the introduction)." }),
  message: z.string().openapi({ description: "What went wrong, and how to fix it." }),
}).openapi("ApiMessage");

/** Where a page sits in a list. */
export const ResultInfoSchema = z.strictObject({
  page: z.int().openapi({ description: "The page given." }),
  per_page: z.int().openapi({ description: "The most items a page holds." }),
  count: z.int().openapi({ description: "Items on this page." }),
  total_count: z.int().openapi({ description: "Items on all pages." }),
  total_pages: z.int().openapi({ description: "Pages in all." }),
}).openapi("ResultInfo");

/** A failure: no result, `success: false`, at least one error. */
export const FailureSchema = z.strictObject({
  result: z.null(),
  success: z.literal(false),
  errors: z.array(ApiMessageSchema).min(1).openapi({ description: "Every problem found, each naming the field or parameter and the fix." }),
  messages: z.array(ApiMessageSchema),
}).openapi("Failure");

/** A success envelope around `result`. */
export function envelope(result: z.ZodType) {
  return z.strictObject({ result, success: z.literal(true), errors: z.array(ApiMessageSchema).max(0), messages: z.array(ApiMessageSchema) });
}

/** A success envelope around one page of a list, with `result_info`. */
export function pagedEnvelope(item: z.ZodType) {
  return z.strictObject({
    result: z.array(item), success: z.literal(true), errors: z.array(ApiMessageSchema).max(0), messages: z.array(ApiMessageSchema),
    result_info: ResultInfoSchema,
  });
}

/** `page` and `per_page`, as every list takes them. */
export const PAGE_QUERY = {
  page: rule(z.int().min(1), "a whole number of at least 1 (the first page is 1)", { json: true }).default(1)
    .openapi({ description: "The page, from 1; a page past the end is empty." }),
  per_page: rule(z.int().min(1).max(MAX_PER_PAGE), `a whole number from 1 to ${MAX_PER_PAGE}`, { json: true }).default(DEFAULT_PER_PAGE)
    .openapi({ description: "Items per page." }),
};

/** The query of a list without other parameters. */
export const PageQuery = z.object(PAGE_QUERY);

/** A paginated list's parameters, as its handler gets them. */
export type PageParams = { page: number; per_page: number };

const pathParam = (name: string, description: string, schema: z.ZodString = z.string()) =>
  schema.openapi({ param: { name, in: "path", description } });

/** Every path parameter, documented once. */
export const PATH_PARAMS: Record<string, z.ZodString> = {
  account_id: pathParam("account_id", "Any account id, unless the server is configured to serve only one."),
  namespace: pathParam("namespace", "A namespace name (case-insensitive)."),
  broker: pathParam("broker", "A broker name (case-insensitive)."),
  client_id: pathParam("client_id", "A client id, percent-encoded (`/` as `%2F`)."),
  token_id: pathParam("token_id", "An API token's id (32 hex characters)."),
  username: pathParam("username", "A SCRAM user's name, percent-encoded."),
};

/** An RFC 3339 date-time with its description. */
export const time = (description: string) => z.string().openapi({ format: "date-time", description });
/** A string with its description. */
export const str = (description: string) => z.string().openapi({ description });
/** A whole number with its description. */
export const int = (description: string) => z.int().openapi({ description });
/** A boolean with its description. */
export const bool = (description: string) => z.boolean().openapi({ description });
