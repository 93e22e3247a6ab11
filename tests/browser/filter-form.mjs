// Fills a topic page's filter form in Debian's chromium (headless), submits
// it, and follows the query feed link the resulting page shows.
//
// Usage: node filter-form.mjs PAGE_URL OUT_DIR
// Prints one JSON object: the page URL the form led to, the fields as the
// new page shows them, the Atom link it offers and that feed's response.
// Writes OUT_DIR/form.png (the filtered page) for a person to look at.
import { chromium } from "playwright-core";

const [pageUrl, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Root in a container: chromium's sandbox needs user namespaces.
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  // Failed loads and policy violations (a CSP blocking the form shows as
  // a console error). The browser's own favicon probe does not count.
  const failed = [];
  page.on("response", (r) => {
    if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) failed.push(`${r.status()} ${r.url()}`);
  });
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) failed.push(m.text());
  });
  await page.goto(pageUrl);
  await page.fill("form.filter input[name=tag]", "moe");
  await page.fill("form.filter input[name=min_upvotes]", "50");
  await Promise.all([
    page.waitForURL((u) => u.search !== ""),
    page.click("form.filter button[type=submit]"),
  ]);
  const field = (name) => page.inputValue(`form.filter input[name=${name}]`);
  const atom = await page.getAttribute("a:text-is('Atom')", "href");
  const feed = await page.request.get(atom);
  await page.screenshot({ path: `${outDir}/form.png`, fullPage: true });
  console.log(
    JSON.stringify({
      formUrl: page.url(),
      fields: { tag: await field("tag"), min_upvotes: await field("min_upvotes"), q: await field("q") },
      title: await page.title(),
      atom,
      feedStatus: feed.status(),
      feedType: feed.headers()["content-type"],
      feed: await feed.text(),
      failures: failed,
    }),
  );
} finally {
  await browser.close();
}
