// The browser loads uPlot from /ui/vendor/uPlot.esm.js (served from node_modules/uplot by the
// broker); this gives that path the package's own types.
import uPlot from "uplot";
export default uPlot;
