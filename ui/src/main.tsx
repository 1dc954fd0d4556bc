import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./styles.css";

// Content-Security-Policy violations are counted so the end-to-end tests can assert there are none.
const violations: string[] = [];
(window as unknown as { __locketCspViolations: string[] }).__locketCspViolations = violations;
document.addEventListener("securitypolicyviolation", (e) => {
  violations.push(`${e.violatedDirective} ${e.blockedURI}`);
});

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
