//! Price history charts, rendered on the server as SVG.
