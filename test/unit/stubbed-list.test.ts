/**
 * src/mgmt/listing.ts's stubbedListResponse: a paged list picks its page among cheap stubs and
 * builds only that page's items, and answers exactly what listResponse answers over the whole
 * items, for every query the list endpoints take.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type Item, listResponse, type Query, stubbedListResponse } from "../../src/mgmt/listing.js";

interface Source {
  name: string;
  vhost: string;
  depth: number;
}

const sources: Source[] = Array.from({ length: 40 }, (_, i) => ({
  name: `q-${String((i * 7) % 40).padStart(2, "0")}`,
  vhost: i % 3 === 0 ? "b" : "a",
  depth: (i * 13) % 9,
}));

function counted(): { built: () => number; list: Parameters<typeof stubbedListResponse<Source>>[1] } {
  let built = 0;
  return {
    built: () => built,
    list: {
      stubKeys: ["vhost", "name"],
      stub: (s) => ({ name: s.name, vhost: s.vhost }),
      full: (s): Item => {
        built++;
        return { name: s.name, vhost: s.vhost, messages: s.depth, details: { depth: s.depth } };
      },
    },
  };
}

const full = (s: Source): Item => ({ name: s.name, vhost: s.vhost, messages: s.depth, details: { depth: s.depth } });

describe("stubbedListResponse", () => {
  const queries: Query[] = [
    { page: "1", page_size: "5" },
    { page: "3", page_size: "7" },
    { page: "1", page_size: "5", sort_reverse: "true" },
    { page: "2", page_size: "3", name: "q-1" },
    { page: "1", page_size: "10", name: "^q-(0|2)", use_regex: "true" },
    { page: "1", page_size: "4", sort: "name", columns: "name,details.depth" },
    { page: "2", page_size: "4", sort: "messages" },
    { sort: "name" },
    {},
  ];
  for (const query of queries) {
    it(`answers as listResponse over the whole items: ${JSON.stringify(query)}`, () => {
      const { list } = counted();
      assert.deepEqual(stubbedListResponse(sources, list, query, ["vhost", "name"]), listResponse(sources.map(full), query, ["vhost", "name"]));
    });
  }

  it("a page sorted by the stub's keys builds only its own items", () => {
    const c = counted();
    const page = stubbedListResponse(sources, c.list, { page: "2", page_size: "5" }, ["vhost", "name"]) as { items: Item[] };
    assert.equal(page.items.length, 5);
    assert.equal(c.built(), 5);
  });

  it("a sort by a key the stub lacks, or no page, builds every item", () => {
    const sorted = counted();
    stubbedListResponse(sources, sorted.list, { page: "1", page_size: "5", sort: "messages" }, ["vhost", "name"]);
    assert.equal(sorted.built(), sources.length);
    const whole = counted();
    stubbedListResponse(sources, whole.list, {}, ["vhost", "name"]);
    assert.equal(whole.built(), sources.length);
  });

  it("a page out of range is refused as listResponse refuses it", () => {
    const { list } = counted();
    assert.throws(() => stubbedListResponse(sources, list, { page: "99", page_size: "5" }, ["vhost", "name"]), /Page out of range/);
  });
});
