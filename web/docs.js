// The API documentation page at /docs: Swagger UI (npm swagger-ui-dist, served from
// /docs-assets/) on the worker's /openapi.json. Deep links: /docs#/OpenTera opens that tag.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "none", // the tags only; a deep link (/docs#/OpenTera) opens its tag
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
