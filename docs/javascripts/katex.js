// Render the equations that pymdownx.arithmatex (generic mode) leaves as
// \( ... \) and \[ ... \] inside .arithmatex elements, with the bundled KaTeX.
document$.subscribe(({ body }) => {
  body.querySelectorAll(".arithmatex").forEach((el) => {
    renderMathInElement(el, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  });
});
