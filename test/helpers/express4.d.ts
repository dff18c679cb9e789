// Express 4 is installed under an alias to run the suite against both majors; it has the same shape.
declare module 'express4' {
  import express = require('express');
  export = express;
}
