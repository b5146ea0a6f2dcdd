// A broker's SCRAM users: what the API takes and answers, as zod schemas.
import { z } from "@hono/zod-openapi";
import { rule } from "../issues.ts";
import { int, PAGE_QUERY, str, time } from "./common.ts";

/** A SCRAM user as the API shows it: never a password, salt or key. */
export const ScramUserSchema = z.strictObject({
  username: str("The SCRAM user name (the `n=` of client-first)."),
  iterations: int("The PBKDF2 iteration count its keys were derived with."),
  mechanisms: z.array(z.enum(["SCRAM-SHA-256", "SCRAM-SHA-512"])).openapi({ description: "The Authentication Methods it may log in with." }),
  created_on: time("When it was added or its password last set."),
}).openapi("ScramUser");

/** `POST …/scram-users`: a new user, or a new password for one. */
export const ScramUserCreateSchema = z.strictObject({
  username: rule(z.string().min(1).max(256), "a user name of 1 to 256 characters"),
  password: rule(z.string().min(8).max(1024), "a password of 8 to 1024 characters (only keys derived from it are kept)"),
  iterations: rule(z.int().min(4096).max(1_000_000), "a whole number from 4096 (RFC 7677's minimum) to 1000000", { json: true }).optional()
    .openapi({ default: 4096, description: "PBKDF2 iterations for its keys." }),
}).openapi("ScramUserCreate");

/** The SCRAM users list's query. */
export const ScramUsersQuery = z.object(PAGE_QUERY);
