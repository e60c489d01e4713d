// What the build report shows, read from a model binary alone (its modelc.*
// provenance keys: recipe, manifest, loss curves, hash chain), plus the
// credits (provenance/credits.h), the licence check recomputed from the
// recorded licences (source/licence_check.h) and the audit
// (provenance/audit.h) of the binary and the files beside it.
#pragma once
#include <string>

#include "report/report.h"
#include "util/status.h"

namespace modelc {

// Where `modelc build` writes the report: "<folder>/<stem>.report.html" for
// "<folder>/<stem>.gguf" (where `modelc audit` looks for it).
std::string ReportPath(const std::string& model_path);

// Reads `model_path`. `report_path` is where the report will be written:
// when it is ReportPath(model_path), the audit counts it as the binary's
// technical report (so a regenerated report has the same bytes as the
// first one). Errors: the file is not a GGUF model binary, or its modelc
// keys are malformed.
Status ReportInputsFromModel(const std::string& model_path, const std::string& report_path, ReportInputs* out);

// ReportInputsFromModel + RenderReportHtml, written atomically to
// `report_path` ("" : ReportPath(model_path)); *written receives the path.
Status WriteReportForModel(const std::string& model_path, const std::string& report_path, std::string* written);

}  // namespace modelc
