//! Printing a page to PDF with a headless Chromium, when one is installed.
