// Runs Lighthouse (pinned in package.json) over a list of pages in one Chromium, which Debian
// installs: nothing is downloaded. Reads {cookies, pages} as JSON on stdin: the signed-in
// browser's cookies (set in this Chromium, which keeps them: storage is not reset between
// runs) and a list of {name, url, preset}. Writes, for each page, the three category scores and
// every audit that did not pass, as JSON on stdout.
import { readFileSync } from "node:fs";
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const { cookies, pages } = JSON.parse(readFileSync(0, "utf8"));
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROME_PATH,
  chromeFlags: ["--headless=new", "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"],
});
const categories = ["performance", "accessibility", "best-practices"];
const results = [];
try {
  if (cookies.length) {
    const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` });
    await browser.setCookie(...cookies);
    await browser.disconnect();
  }
  for (const page of pages) {
    const flags = {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: categories,
      disableFullPageScreenshot: true,
      disableStorageReset: true,
      // The pages are small and served locally: a quarter second of quiet is enough to call a
      // load finished (the scores come from the trace, simulated on a throttled phone or desktop).
      pauseAfterFcpMs: 250,
      pauseAfterLoadMs: 250,
      networkQuietThresholdMs: 250,
      cpuQuietThresholdMs: 250,
    };
    const config = page.preset === "desktop" ? desktopConfig : undefined;
    let lhr = (await lighthouse(page.url, flags, config)).lhr;
    if (lhr.runtimeError) {
      // A trace Chromium failed to record (NO_NAVSTART and the like) says nothing of the page:
      // measured once more.
      lhr = (await lighthouse(page.url, flags, config)).lhr;
    }
    const failed = Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 1 && ["binary", "numeric", "metricSavings"].includes(a.scoreDisplayMode))
      .map((a) => ({ id: a.id, score: a.score, value: a.displayValue || "" }));
    results.push({
      name: page.name,
      preset: page.preset,
      finalUrl: lhr.finalDisplayedUrl,
      scores: Object.fromEntries(categories.map((c) => [c, Math.round(lhr.categories[c].score * 100)])),
      failed,
      runtimeError: lhr.runtimeError ? lhr.runtimeError.message : null,
    });
  }
} finally {
  await chrome.kill();
}
process.stdout.write(JSON.stringify(results));
