// `node adapters/node [options]` (and `npm start`): start edgemq on Node, after
// checking that this Node can run it (see launch.js).
import { launch } from "./launch.js";

await launch(new URL("./", import.meta.url), "main");
