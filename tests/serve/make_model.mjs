// ctest fixture Serve.Model: builds the tiny model the serve tests use.
import {buildModel, modelPath} from "./harness.mjs";

buildModel();
console.log(`built ${modelPath}`);
