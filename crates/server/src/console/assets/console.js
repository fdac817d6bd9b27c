// garita console: small progressive enhancements. Loaded from the server (no inline script; CSP forbids it).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Show or hide the minutiae drawn over a fingerprint.
  for (const button of document.querySelectorAll("button.toggle-minutiae")) {
    button.addEventListener("click", () => {
      const svg = button.closest("figure").querySelector("svg.print");
      const plain = svg.classList.toggle("plain");
      button.textContent = plain ? "show minutiae" : "hide minutiae";
    });
  }
  // Ask before irreversible actions.
  for (const button of document.querySelectorAll("button[data-confirm]")) {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  }
  // Forms submit once.
  for (const form of document.querySelectorAll("form[method=post]")) {
    form.addEventListener("submit", () => {
      setTimeout(() => { for (const b of form.querySelectorAll("button")) b.disabled = true; }, 0);
    });
  }
});
