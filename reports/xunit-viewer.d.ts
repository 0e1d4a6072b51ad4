// Types for the one part of xunit-viewer (a devDependency) the JUnit consumer test uses: its parser.

declare module 'xunit-viewer/src/cli/parse.js' {
  export interface XunitViewerTest {
    id: number;
    name: string;
    classname: string;
    /** `passed`, `failure`, `error`, `skipped`, or the first other child element's name. */
    status: string;
    messages: string[];
    properties?: Record<string, string[] | boolean>;
  }
  export interface XunitViewerSuite {
    name: string;
    tests: Record<string, XunitViewerTest>;
  }
  export default function parse(xml: string): Promise<{ suites: Record<string, XunitViewerSuite> }>;
}
