import { runService } from "@monarch/runtime";
import { ingestService } from "./service.js";

await runService(ingestService);
