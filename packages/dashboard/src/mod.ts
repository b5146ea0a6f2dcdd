/**
 * @module
 * edgemq's web dashboard: a hono app that serves the dashboard's page, script
 * and styles from files shipped with the package, under a Content-Security-Policy
 * that lets them load nothing but themselves.
 */
export * from "./app.ts";
