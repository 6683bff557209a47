// Swagger UI on our OpenAPI document (its files come from the swagger-ui-bundle package).
"use strict";
window.ui = SwaggerUIBundle({ url: document.getElementById("swagger-ui").dataset.spec,
                              dom_id: "#swagger-ui" });
